# gunicorn settings for deploy/hemaclinic-web.service
bind = "127.0.0.1:8000"
workers = 3
timeout = 300  # large CellaVision zips are read within the request
forwarded_allow_ips = "127.0.0.1"
accesslog = "-"
