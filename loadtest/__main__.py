"""python -m loadtest [fanout options] | python -m loadtest leaderboard [options]"""

from loadtest.cli import main

main()
