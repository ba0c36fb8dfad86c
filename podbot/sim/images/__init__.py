"""Images as the kubelet pulls them: registries, references, pull errors and pull credentials."""
