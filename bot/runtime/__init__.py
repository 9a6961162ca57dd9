"""The running service: `wiring` builds the filter stack and its parts once for every entry point;
`pipeline` stores, decides and records each post; `service` starts, drains and stops it all;
`worker`/`stream` scale deciding past one process; `executor` carries out planned actions."""
