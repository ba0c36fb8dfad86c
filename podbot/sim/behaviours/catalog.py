"""Image behaviours: what a container of a given image does once started.

The registry table (``registry.yaml``, whose header has the behaviour table the README copies)
names a behaviour for each repository; the behaviour turns the container's command, args and env
into a ``Run`` (log lines, exit, readiness). Overriding the command works as with a real image:
``sh -c "..."`` (or a busybox applet) in an image that has a shell runs the script
(``podbot.sim.behaviours.shell``); the image's own program runs its own behaviour; any other program fails
to start (``exec: "x": executable file not found in $PATH``, StartError, exit code 128).
"""

from __future__ import annotations

from podbot.sim.behaviours.apps import APP_BEHAVIOURS
from podbot.sim.behaviours.behaviour import Behaviour, RunContext
from podbot.sim.behaviours.run import Run
from podbot.sim.behaviours.shell import APPLETS, SHELLS, run_script
from podbot.sim.behaviours.system import SYSTEM_BEHAVIOURS

__all__ = ["BEHAVIOURS", "Behaviour", "RunContext", "default_env", "plan", "start_error"]

BEHAVIOURS: dict[str, Behaviour] = {b.name: b for b in APP_BEHAVIOURS + SYSTEM_BEHAVIOURS}


def start_error(program: str) -> Run:
    return Run(
        start_error=(
            "failed to create containerd task: failed to create shim task: OCI runtime create failed: "
            "runc create failed: unable to start container process: exec: "
            f'"{program}": executable file not found in $PATH: unknown'
        )
    )


def plan(behaviour: Behaviour, ctx: RunContext) -> Run:
    """The Run of a container of this image with the container's command, args and env."""
    if ctx.command:
        argv = list(ctx.command) + list(ctx.args or [])
    elif ctx.args is not None and ctx.args:
        argv = list(behaviour.entrypoint) + list(ctx.args)
    else:
        argv = list(behaviour.entrypoint) + list(behaviour.cmd)
    if not argv:
        return Run(start_error="failed to create containerd task: no command specified: unknown")
    program = argv[0].rsplit("/", 1)[-1]
    own = argv[: len(behaviour.entrypoint)] == list(behaviour.entrypoint) and behaviour.entrypoint
    if program in behaviour.binaries or own:
        return behaviour.main(ctx, argv)
    if behaviour.shell_program is not None:
        if program in SHELLS:
            if "-c" in argv[1:]:
                index = argv.index("-c")
                script = argv[index + 1] if index + 1 < len(argv) else ""
                return run_script(script, ctx.env, shell=program, namespace=ctx.namespace)
            # A shell with no script and no stdin (Kubernetes gives none by default) exits at once.
            return Run(exit_after=0.05)
        if program in APPLETS:
            from shlex import join  # noqa: PLC0415

            return run_script(join(argv), ctx.env, shell=behaviour.shell_program, namespace=ctx.namespace)
    return start_error(argv[0])


def default_env(pod_name: str) -> dict[str, str]:
    """What every container's environment has before its own variables."""
    return {
        "PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
        "HOSTNAME": pod_name,
        "HOME": "/root",
        "KUBERNETES_SERVICE_HOST": "10.96.0.1",
        "KUBERNETES_SERVICE_PORT": "443",
        "KUBERNETES_SERVICE_PORT_HTTPS": "443",
        "KUBERNETES_PORT": "tcp://10.96.0.1:443",
        "KUBERNETES_PORT_443_TCP": "tcp://10.96.0.1:443",
        "KUBERNETES_PORT_443_TCP_PROTO": "tcp",
        "KUBERNETES_PORT_443_TCP_PORT": "443",
        "KUBERNETES_PORT_443_TCP_ADDR": "10.96.0.1",
    }
