from kmslog.cli import main

main()
