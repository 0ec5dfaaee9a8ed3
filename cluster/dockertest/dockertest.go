package dockertest

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/docker/client"
)

// DefaultImage is the image the tests run unless WALSTEP_TEST_IMAGE names
// another (scripts/test-image.sh builds it).
const DefaultImage = "walstep-test-pg:15"

// Image is $WALSTEP_TEST_IMAGE, else DefaultImage.
func Image() string {
	if img := os.Getenv("WALSTEP_TEST_IMAGE"); img != "" {
		return img
	}
	return DefaultImage
}

// Require returns img, or skips the test (fails it under CI=true, where
// Docker tests must run) when the engine or img is missing; what names
// the tests in the message ("docker tests").
func Require(t testing.TB, img, what string) string {
	t.Helper()
	unavailable := func(why string) {
		t.Helper()
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s need an engine and image %s under CI: %s", what, img, why)
		}
		t.Skipf("%s skipped: %s (run scripts/ci-docker-setup.sh to enable them)", what, why)
	}
	cli, err := client.NewClientWithOpts(client.FromEnv, client.WithAPIVersionNegotiation())
	if err != nil {
		unavailable(err.Error())
	}
	defer cli.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := cli.Ping(ctx); err != nil {
		unavailable("docker engine not reachable at " + cli.DaemonHost())
	}
	if _, err := cli.ImageInspect(ctx, img); err != nil {
		unavailable("image " + img + " not found")
	}
	return img
}

// Labelled lists the containers ("name (state)") and the networks that
// carry the label key=value.
func Labelled(t testing.TB, key, value string) (containers, networks []string) {
	t.Helper()
	cli, err := client.NewClientWithOpts(client.FromEnv, client.WithAPIVersionNegotiation())
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	f := filters.NewArgs(filters.Arg("label", key+"="+value))
	cs, err := cli.ContainerList(ctx, container.ListOptions{All: true, Filters: f})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cs {
		containers = append(containers, strings.Join(c.Names, ",")+" ("+c.State+")")
	}
	ns, err := cli.NetworkList(ctx, network.ListOptions{Filters: f})
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range ns {
		networks = append(networks, n.Name)
	}
	return containers, networks
}
