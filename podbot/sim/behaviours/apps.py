"""Behaviours of application images: web servers, databases, shells and podbot's test images."""

from __future__ import annotations

from podbot.sim.behaviours.behaviour import Behaviour, RunContext, behaviour, version_of
from podbot.sim.behaviours.run import LogEntry, Loop, Run

MiB = 1024 * 1024


def _nginx(ctx: RunContext, argv: list[str]) -> Run:
    text, version = version_of(ctx, "1.27.3")
    stamp = "{ts:%Y/%m/%d %H:%M:%S}"
    entries: list[LogEntry] = []
    stop: tuple[str, ...] = ()
    if version >= (1, 19):
        lines = [
            "/docker-entrypoint.sh: /docker-entrypoint.d/ is not empty, "
            "will attempt to perform configuration",
            "/docker-entrypoint.sh: Looking for shell scripts in /docker-entrypoint.d/",
            "/docker-entrypoint.sh: Launching /docker-entrypoint.d/10-listen-on-ipv6-by-default.sh",
            "10-listen-on-ipv6-by-default.sh: info: Getting the checksum of /etc/nginx/conf.d/default.conf",
            "10-listen-on-ipv6-by-default.sh: info: Enabled listen on IPv6 in /etc/nginx/conf.d/default.conf",
        ]
        if version >= (1, 25):
            lines.append("/docker-entrypoint.sh: Sourcing /docker-entrypoint.d/15-local-resolvers.envsh")
        lines.append("/docker-entrypoint.sh: Launching /docker-entrypoint.d/20-envsubst-on-templates.sh")
        if version >= (1, 21):
            lines.append("/docker-entrypoint.sh: Launching /docker-entrypoint.d/30-tune-worker-processes.sh")
        lines.append("/docker-entrypoint.sh: Configuration complete; ready for start up")
        entries = [LogEntry(0.01 * i, line) for i, line in enumerate(lines)]
        base = 0.01 * len(lines)
        notices = [
            'using the "epoll" event method',
            f"nginx/{text}",
            "built by gcc 12.2.0 (Debian 12.2.0-14) ",
            "OS: Linux 6.8.0-51-generic",
            "getrlimit(RLIMIT_NOFILE): 1048576:1048576",
            "start worker processes",
            "start worker process 29",
            "start worker process 30",
        ]
        entries += [
            LogEntry(base + 0.001 * i, f"{stamp} [notice] 1#1: {n}", True) for i, n in enumerate(notices)
        ]
        stop = (
            f"{stamp} [notice] 1#1: signal 3 (SIGQUIT) received, shutting down",
            f"{stamp} [notice] 29#29: gracefully shutting down",
            f"{stamp} [notice] 29#29: exiting",
            f"{stamp} [notice] 29#29: exit",
            f"{stamp} [notice] 1#1: signal 17 (SIGCHLD) received from 29",
            f"{stamp} [notice] 1#1: worker process 29 exited with code 0",
            f"{stamp} [notice] 1#1: exit",
        )
    body = 615 if version >= (1, 19) else 612
    agent = "kube-probe/1.32" if ctx.probed else "curl/8.5.0"
    access = (
        f'{ctx.gateway} - - [{{ts:%d/%b/%Y:%H:%M:%S}} +0000] "GET / HTTP/1.1" 200 {body} "-" "{agent}" "-"'
    )
    # Some client (or the kubelet's probe) hits the server soon after start, then now and then.
    period = 10.0 if ctx.probed else 30.0
    return Run(entries=tuple(entries), loop=Loop(5.0, period, (LogEntry(0.0, access),)), stop_lines=stop)


def _httpd(ctx: RunContext, argv: list[str]) -> Run:
    stamp = "[{ts:%a %b %d %H:%M:%S.%6f %Y}]"
    warn = (
        f"AH00558: httpd: Could not reliably determine the server's fully qualified domain name, using "
        f"{ctx.pod_ip}. Set the 'ServerName' directive globally to suppress this message"
    )
    entries = (
        LogEntry(0.0, warn, True),
        LogEntry(0.01, warn, True),
        LogEntry(
            0.02,
            f"{stamp} [mpm_event:notice] [pid 1:tid 139872] AH00489: Apache/2.4.62 (Unix) configured "
            "-- resuming normal operations",
            True,
        ),
        LogEntry(
            0.021,
            f"{stamp} [core:notice] [pid 1:tid 139872] AH00094: Command line: 'httpd -D FOREGROUND'",
            True,
        ),
    )
    access = f'{ctx.gateway} - - [{{ts:%d/%b/%Y:%H:%M:%S}} +0000] "GET / HTTP/1.1" 200 45'
    stop = (f"{stamp} [mpm_event:notice] [pid 1:tid 139872] AH00491: caught SIGTERM, shutting down",)
    return Run(entries=entries, loop=Loop(30.0, 30.0, (LogEntry(0.0, access),)), stop_lines=stop)


def _redis(ctx: RunContext, argv: list[str]) -> Run:
    text, _ = version_of(ctx, "7.4.2")
    c = "1:C {ts:%d %b %Y %H:%M:%S.%3f}"
    m = "1:M {ts:%d %b %Y %H:%M:%S.%3f}"
    lines = [
        f"{c} * oO0OoO0OoO0Oo Redis is starting oO0OoO0OoO0Oo",
        f"{c} * Redis version={text}, bits=64, commit=00000000, modified=0, pid=1, just started",
        f"{c} # Warning: no config file specified, using the default config. "
        "In order to specify a config file use redis-server /path/to/redis.conf",
        f"{m} * monotonic clock: POSIX clock_gettime",
        f"{m} * Running mode=standalone, port=6379.",
        f"{m} * Server initialized",
        f"{m} * Ready to accept connections tcp",
    ]
    stop = (
        f"{m} # Received SIGTERM scheduling shutdown...",
        f"{m} * User requested shutdown...",
        f"{m} * Saving the final RDB snapshot before exiting.",
        f"{m} * DB saved on disk",
        f"{m} # Redis is now ready to exit, bye bye...",
    )
    return Run(entries=tuple(LogEntry(0.001 * i, line) for i, line in enumerate(lines)), stop_lines=stop)


def _postgres(ctx: RunContext, argv: list[str]) -> Run:
    if not ctx.env.get("POSTGRES_PASSWORD") and ctx.env.get("POSTGRES_HOST_AUTH_METHOD") != "trust":
        lines = [
            "Error: Database is uninitialized and superuser password is not specified.",
            "       You must specify POSTGRES_PASSWORD to a non-empty value for the",
            '       superuser. For example, "-e POSTGRES_PASSWORD=password" on "docker run".',
            "",
            '       You may also use "POSTGRES_HOST_AUTH_METHOD=trust" to allow all',
            "       connections without a password. This is *not* recommended.",
            "",
            '       See PostgreSQL documentation about "trust":',
            "       https://www.postgresql.org/docs/current/auth-trust.html",
        ]
        return Run(
            entries=tuple(LogEntry(0.05, line, True) for line in lines),
            exit_after=0.06,
            exit_code=1,
            reason="Error",
        )
    text, _ = version_of(ctx, "17.2")
    stamp = "{ts:%Y-%m-%d %H:%M:%S.%3f} UTC [1]"
    timed = [
        (0.0, 'The files belonging to this database system will be owned by user "postgres".'),
        (0.01, "This user must also own the server process."),
        (0.5, "Success. You can now start the database server using:"),
        (2.5, "PostgreSQL init process complete; ready for start up."),
        (2.9, f"{stamp} LOG:  starting PostgreSQL {text} (Debian {text}-1.pgdg120+1) on x86_64-pc-linux-gnu"),
        (2.91, f'{stamp} LOG:  listening on IPv4 address "0.0.0.0", port 5432'),
        (2.92, f'{stamp} LOG:  listening on Unix socket "/var/run/postgresql/.s.PGSQL.5432"'),
        (3.0, f"{stamp} LOG:  database system is ready to accept connections"),
    ]
    stop = (
        f"{stamp} LOG:  received fast shutdown request",
        f"{stamp} LOG:  aborting any active transactions",
        f"{stamp} LOG:  database system is shut down",
    )
    return Run(entries=tuple(LogEntry(t, line) for t, line in timed), ready_after=3.0, stop_lines=stop)


def _mysql(ctx: RunContext, argv: list[str]) -> Run:
    stamp = "{ts:%Y-%m-%d %H:%M:%S}+00:00"
    text, _ = version_of(ctx, "8.4.3")
    head = [
        f"{stamp} [Note] [Entrypoint]: Entrypoint script for MySQL Server {text}-1.el9 started.",
        f"{stamp} [Note] [Entrypoint]: Switching to dedicated user 'mysql'",
        f"{stamp} [Note] [Entrypoint]: Entrypoint script for MySQL Server {text}-1.el9 started.",
    ]
    if not any(
        ctx.env.get(k)
        for k in ("MYSQL_ROOT_PASSWORD", "MYSQL_ALLOW_EMPTY_PASSWORD", "MYSQL_RANDOM_ROOT_PASSWORD")
    ):
        lines = [
            *head,
            f"{stamp} [ERROR] [Entrypoint]: Database is uninitialized and password option is not specified",
            "    You need to specify one of the following as an environment variable:",
            "    - MYSQL_ROOT_PASSWORD",
            "    - MYSQL_ALLOW_EMPTY_PASSWORD",
            "    - MYSQL_RANDOM_ROOT_PASSWORD",
        ]
        return Run(
            entries=tuple(LogEntry(0.1 + 0.001 * i, line) for i, line in enumerate(lines)),
            exit_after=0.2,
            exit_code=1,
            reason="Error",
        )
    lines = [
        *head,
        f"{stamp} [Note] [Entrypoint]: Initializing database files",
        f"{stamp} [Note] [Entrypoint]: MySQL init process done. Ready for start up.",
    ]
    ready = (
        "{ts:%Y-%m-%dT%H:%M:%S.%6f}Z 0 [System] [MY-010931] [Server] /usr/sbin/mysqld: "
        f"ready for connections. Version: '{text}'  socket: '/var/run/mysqld/mysqld.sock'  port: 3306  "
        "MySQL Community Server - GPL."
    )
    entries = [LogEntry(0.1 + 0.5 * i, line) for i, line in enumerate(lines)] + [LogEntry(8.0, ready)]
    return Run(entries=tuple(entries), ready_after=8.0)


def _default_shell(ctx: RunContext, argv: list[str]) -> Run:
    return Run(exit_after=0.05)


def _crash(ctx: RunContext, argv: list[str]) -> Run:
    after = float(ctx.params.get("crash_after", 3))
    stamp = "{ts:%Y-%m-%d %H:%M:%S,%3f}"
    entries = [
        LogEntry(0.0, f"{stamp} INFO starting orders-api v2.3.1 (pid 1)"),
        LogEntry(0.05, f"{stamp} INFO loading configuration from environment"),
    ]
    if ctx.env.get("DATABASE_URL"):
        entries.append(LogEntry(0.5, f"{stamp} INFO connected to database; listening on :8080"))
        return Run(
            entries=tuple(entries), loop=Loop(60.0, 60.0, (LogEntry(0.0, f"{stamp} INFO health check ok"),))
        )
    trace = [
        "Traceback (most recent call last):",
        '  File "/app/main.py", line 42, in <module>',
        "    main()",
        '  File "/app/main.py", line 37, in main',
        '    conn = connect(os.environ["DATABASE_URL"])',
        "                   ~~~~~~~~~~^^^^^^^^^^^^^^^^",
        '  File "<frozen os>", line 714, in __getitem__',
        "KeyError: 'DATABASE_URL'",
    ]
    entries.append(LogEntry(after - 0.01, f"{stamp} ERROR unhandled exception, exiting", True))
    entries += [LogEntry(after, line, True) for line in trace]
    return Run(entries=tuple(entries), exit_after=after + 0.01, exit_code=1, reason="Error")


def _oom(ctx: RunContext, argv: list[str]) -> Run:
    limit = ctx.memory_limit or 512 * MiB
    steps = max(1, -(-limit // (64 * MiB)))
    entries = [LogEntry(0.0, "allocating memory in 64MiB chunks")]
    entries += [LogEntry(float(i), f"allocated {64 * i}MiB") for i in range(1, steps)]
    return Run(entries=tuple(entries), exit_after=float(steps), exit_code=137, reason="OOMKilled")


def _job(ctx: RunContext, argv: list[str]) -> Run:
    items = int(ctx.params.get("items", 5))
    entries = [LogEntry(0.0, f"starting batch job: {items} items")]
    entries += [LogEntry(float(i), f"processing item {i}/{items}") for i in range(1, items + 1)]
    entries.append(LogEntry(items + 0.5, f"done: processed {items} items, 0 errors"))
    return Run(entries=tuple(entries), exit_after=items + 0.6, exit_code=0)


def _slow_start(ctx: RunContext, argv: list[str]) -> Run:
    after = float(ctx.params.get("ready_after", 30))
    entries = (
        LogEntry(0.0, f"starting up: warming caches (takes about {int(after)}s)"),
        LogEntry(after / 2, "cache warm-up 50% complete"),
        LogEntry(after, "ready: serving on :8080"),
    )
    return Run(entries=entries, ready_after=after)


APP_BEHAVIOURS: tuple[Behaviour, ...] = (
    behaviour(
        "nginx",
        _nginx,
        entrypoint=("/docker-entrypoint.sh",),
        cmd=("nginx", "-g", "daemon off;"),
        binaries=("nginx", "docker-entrypoint.sh"),
    ),
    behaviour("httpd", _httpd, cmd=("httpd-foreground",), binaries=("httpd-foreground", "httpd")),
    behaviour(
        "redis",
        _redis,
        entrypoint=("docker-entrypoint.sh",),
        cmd=("redis-server",),
        binaries=("redis-server", "docker-entrypoint.sh"),
    ),
    behaviour(
        "postgres",
        _postgres,
        entrypoint=("docker-entrypoint.sh",),
        cmd=("postgres",),
        binaries=("postgres", "docker-entrypoint.sh"),
    ),
    behaviour(
        "mysql",
        _mysql,
        entrypoint=("docker-entrypoint.sh",),
        cmd=("mysqld",),
        binaries=("mysqld", "docker-entrypoint.sh"),
    ),
    behaviour("shell", _default_shell, cmd=("sh",)),
    behaviour("bash", _default_shell, cmd=("/bin/bash",), shell_program="bash"),
    behaviour("crash", _crash, cmd=("/app/main.py",), binaries=("main.py", "python3", "python")),
    behaviour("oom", _oom, cmd=("/app/leak",), binaries=("leak",)),
    behaviour("job", _job, cmd=("/app/job",), binaries=("job",)),
    behaviour("slow-start", _slow_start, cmd=("/app/server",), binaries=("server",)),
)
