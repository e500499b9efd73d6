from shopwarehouse.cli import main

main()
