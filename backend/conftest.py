pytest_plugins = ["testing.plugin"]
