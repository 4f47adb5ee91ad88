"""deploy/: the Kubernetes manifests, checked structurally and validated offline, by theme."""
