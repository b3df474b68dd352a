from pykeepalived.cli import main

raise SystemExit(main())
