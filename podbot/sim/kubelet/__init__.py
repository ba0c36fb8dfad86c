"""The node side: kubelets and their pod workers, static pods, node objects, the scheduler, events."""
