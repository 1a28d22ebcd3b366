package config_test

import (
	"fmt"

	"github.com/karajo/karajo/config"
)

func ExampleNormalizeID() {
	fmt.Println(config.NormalizeID("Test job success"))
	fmt.Println(config.NormalizeID("1 Über-job.x"))
	// Output:
	// test_job_success
	// _1___ber-job_x
}
