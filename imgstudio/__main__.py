import sys

if __name__ == "__main__":  # not when a worker process re-imports the main module
    try:
        from imgstudio.cli import main
    except KeyboardInterrupt:  # Ctrl-C before the command's own boundary exists
        sys.exit(130)
    sys.exit(main())
