"""Bytes on the socket: HTTP/1.1 transport, the serving certificate and the kubeconfig."""
