"""Services: the use cases (linking, connections, checking, sweeping). They know the domain only:
no HTTP, AWS, requests or Powertools; the adapters reach them through core's ports."""
