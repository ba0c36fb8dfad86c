"""podbot.sim: an embedded Kubernetes cluster (API server over HTTP + simulated kubelets).

Test and demo infrastructure: product code never imports it (only ``podbot.cli`` starts it).
"""
