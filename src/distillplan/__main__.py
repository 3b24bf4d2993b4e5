from distillplan.cli import main

raise SystemExit(main())
