// Package httpapi serves karajo's HTTP API (SPEC section 4) with
// httprouter: it parses and checks each request (signatures, sizes,
// parameters), turns it into a message to the engine's actors, awaits the
// reply and writes the JSON envelope {"data","message","name","code"}. It
// holds no job state of its own.
package httpapi
