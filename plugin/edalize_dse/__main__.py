from edalize_dse.cli import main

raise SystemExit(main())
