from distillplan.main import main

raise SystemExit(main())
