"""The seed notes' scenario, shared by the tests that replay it (../shared/seeds/)."""

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

# The kubelet event the notes quote, word for word.
SEED_PULL_ERROR = (
    'Failed to pull image "10.0.0.130:5000/nginx:latest": rpc error: code = Unknown desc = Error response '
    "from daemon: Get http://10.0.0.130:5000/v2/nginx/manifests/latest: no basic auth credentials"
)

SEED_SECRET = (
    "create secret docker-registry myregistrykey --docker-server=10.0.0.130:5000 "
    "--docker-username=test --docker-password=123456"
)
