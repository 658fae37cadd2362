"""The application around the engine and the kernel models: commands, `run`, trace, doctor."""
