"""What a container's process does once started: image behaviours, log lines, exits, a tiny shell."""
