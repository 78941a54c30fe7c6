from ie.cli.app import main

if __name__ == "__main__":  # guarded: forkserver/spawn workers import __main__ again
    main()
