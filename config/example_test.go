package config_test

import (
	"fmt"
	"time"

	"github.com/karajo/karajo/config"
)

func ExampleParseSchedule() {
	s, err := config.ParseSchedule("Weekly@Fri, mon@9")
	if err != nil {
		fmt.Println(err)
		return
	}
	now := time.Date(2024, 1, 31, 10, 0, 30, 0, time.UTC) // a Wednesday
	fmt.Println(s)
	fmt.Println(s.Next(now))
	_, err = config.ParseSchedule("yearly")
	fmt.Println(err)
	// Output:
	// weekly@mon,fri@09:00
	// 2024-02-02 09:00:00 +0000 UTC
	// unknown schedule kind "yearly"
}

func ExampleNormalizeID() {
	fmt.Println(config.NormalizeID("Test job success"))
	fmt.Println(config.NormalizeID("1 Über-job.x"))
	// Output:
	// test_job_success
	// _1___ber-job_x
}
