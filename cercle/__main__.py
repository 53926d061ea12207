from cercle.cli import main

main()
