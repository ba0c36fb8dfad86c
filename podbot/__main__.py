from podbot.cli import main

raise SystemExit(main())
