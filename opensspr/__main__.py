from opensspr.cli import main

main()
