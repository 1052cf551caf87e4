from bitacora.cli import main

main()
