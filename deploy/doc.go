// Package deploy holds no code: its test checks that the manifests beside
// it (k8s/, ci/) decode into the Kubernetes API's types and agree with the
// runner image and with one another, so an edit that breaks them fails here
// rather than on a cluster.
package deploy
