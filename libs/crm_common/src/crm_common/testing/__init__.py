"""Testing helpers: a private vhost and databases per run, real service processes, a probe service."""
