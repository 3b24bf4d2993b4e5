from distillplan.entry import main

raise SystemExit(main())
