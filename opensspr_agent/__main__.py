from opensspr_agent.cli import main

raise SystemExit(main())
