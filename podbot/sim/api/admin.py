"""The simulator's own endpoints under ``/_sim/`` (admin token only): faults and simulated time.

GET|POST|DELETE /_sim/faults        see podbot.sim.api.faults
POST /_sim/advance?seconds=N        advance simulated time (timers fire on the way)
GET  /_sim/time                     the simulated time and speed
"""

from __future__ import annotations

import json

from podbot.sim.api.exchange import json_response
from podbot.sim.api.faults import FaultError, Faults
from podbot.sim.auth.rbac import ANONYMOUS, MASTERS, Attributes, UserInfo, forbidden
from podbot.sim.clock import SimClock
from podbot.sim.objects.apierrors import status_bad_request, status_method_not_allowed, status_path_not_found
from podbot.sim.wire.transport import Request, Response


def admin(req: Request, path: str, user: UserInfo | None, faults: Faults, clock: SimClock) -> Response:
    if user is None or MASTERS not in user.groups:
        raise forbidden(Attributes(user or UserInfo(ANONYMOUS), req.method.lower(), path=path))
    if path == "/_sim/faults":
        if req.method == "GET":
            return json_response(200, {"rules": faults.rules(), "down": faults.down})
        if req.method == "DELETE":
            faults.clear()
            return json_response(200, {"rules": [], "down": False})
        if req.method == "POST":
            try:
                body = json.loads(req.body or b"{}")
                if not isinstance(body, dict):
                    raise FaultError("the body must be a JSON object")
                return json_response(200, faults.apply_request(body))
            except (ValueError, FaultError) as e:
                raise status_bad_request(str(e)) from None
        raise status_method_not_allowed()
    if path == "/_sim/advance":
        if req.method != "POST":
            raise status_method_not_allowed()
        try:
            seconds = float(req.param("seconds"))
        except ValueError:
            raise status_bad_request("seconds: must be a number of simulated seconds") from None
        if seconds < 0:
            raise status_bad_request("seconds: must not be negative")
        clock.advance(seconds)
        return json_response(200, {"time": clock.timestamp()})
    if path == "/_sim/time" and req.method == "GET":
        return json_response(200, {"time": clock.timestamp(), "speed": clock.speed})
    raise status_path_not_found()
