"""Developer tools on a running stack: `make invoke`, `make sweep`, `make sesame-token`."""
