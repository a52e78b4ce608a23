"""csbot runtime: configuration, web app, chat adapters, scheduler, CLI and renderers."""
