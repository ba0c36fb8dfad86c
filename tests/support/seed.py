"""The seed notes' scenario (../shared/seeds/) and other manifests that several tests share."""

# The pod from the notes: a private registry that wants a login, and a pull secret not yet created.
SEED_POD = """\
apiVersion: v1
kind: Pod
metadata:
  name: nginx
  labels:
    app: web
spec:
  containers:
    - name: nginx
      image: 10.0.0.130:5000/nginx:latest
      ports:
        - containerPort: 80
  imagePullSecrets:
    - name: myregistrykey
"""

SEED_IMAGE = "10.0.0.130:5000/nginx:latest"

# What the registry answers without a login, and the kubelet event the notes quote, word for word.
SEED_AUTH_ERROR = (
    "rpc error: code = Unknown desc = Error response from daemon: "
    "Get http://10.0.0.130:5000/v2/nginx/manifests/latest: no basic auth credentials"
)
SEED_PULL_ERROR = f'Failed to pull image "{SEED_IMAGE}": {SEED_AUTH_ERROR}'

SEED_SECRET = (
    "create secret docker-registry myregistrykey --docker-server=10.0.0.130:5000 "
    "--docker-username=test --docker-password=123456"
)

# A static pod manifest as the kubelet's manifest folder holds one.
STATIC_WEB = """\
apiVersion: v1
kind: Pod
metadata:
  name: static-web
  labels:
    app: static
spec:
  containers:
    - name: web
      image: nginx
      ports:
        - name: web
          containerPort: 80
"""
