/*
 * httpd — a tiny static HTTP/1.0 server for FROM-scratch images: it serves one fixed page on GET /
 * (and HEAD), "ok" on /healthz, 404 elsewhere, 405 for other methods. One connection at a time, a
 * 5 s read timeout, no files, no shell. SIGTERM/SIGINT end it with status 0 — handled explicitly,
 * because as PID 1 in a container the default action of SIGTERM is to be ignored.
 *
 *   httpd [--port N] [--bind ADDR]     (defaults: $PORT or 8080, 0.0.0.0; ADDR may be IPv6)
 *
 * Built with zig cc against musl for every platform; SCRATCHPACK_PLATFORM names the platform.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#ifndef SCRATCHPACK_PLATFORM
#define SCRATCHPACK_PLATFORM "unknown"
#endif

#define VERSION "1.0.0"

static const char PAGE[] =
    "<!doctype html>\n"
    "<html lang=\"en\"><head><meta charset=\"utf-8\"><title>scratchpack httpd</title></head>\n"
    "<body><h1>Hello from scratchpack httpd</h1>\n"
    "<p>A static C server in a FROM-scratch image, built for " SCRATCHPACK_PLATFORM ".</p>\n"
    "</body></html>\n";

static volatile sig_atomic_t stopping = 0;

static void on_signal(int sig) {
  (void)sig;
  stopping = 1;
}

static int usage(FILE *to, int status) {
  fprintf(to, "usage: httpd [--port N] [--bind ADDR]   (port default: $PORT or 8080)\n");
  return status;
}

static int parse_port(const char *s) {
  char *end = NULL;
  long v = strtol(s, &end, 10);
  if (!*s || *end || v < 1 || v > 65535) return -1;
  return (int)v;
}

static void send_all(int fd, const char *buf, size_t len) {
  while (len > 0) {
    ssize_t n = send(fd, buf, len, MSG_NOSIGNAL);
    if (n <= 0) {
      if (n < 0 && errno == EINTR) continue;
      return;
    }
    buf += n;
    len -= (size_t)n;
  }
}

static void respond(int fd, int status, const char *reason, const char *type, const char *body, int head) {
  char header[256];
  size_t len = strlen(body);
  int n = snprintf(header, sizeof header,
                   "HTTP/1.0 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
                   "Server: scratchpack-httpd/" VERSION "\r\nConnection: close\r\n\r\n",
                   status, reason, type, len);
  send_all(fd, header, (size_t)n);
  if (!head) send_all(fd, body, len);
}

/* Read the request head (up to 8 KiB), answer it, close. Returns the status for the log. */
static int serve(int fd) {
  char req[8192];
  size_t got = 0;
  while (got < sizeof req - 1) {
    ssize_t n = recv(fd, req + got, sizeof req - 1 - got, 0);
    if (n < 0 && errno == EINTR && !stopping) continue;
    if (n <= 0) break;
    got += (size_t)n;
    req[got] = 0;
    if (strstr(req, "\r\n\r\n") || strstr(req, "\n\n")) break;
  }
  req[got] = 0;
  char method[16] = "", path[1024] = "";
  if (sscanf(req, "%15s %1023s", method, path) != 2) {
    respond(fd, 400, "Bad Request", "text/plain", "bad request\n", 0);
    return 400;
  }
  int head = strcmp(method, "HEAD") == 0;
  if (!head && strcmp(method, "GET") != 0) {
    respond(fd, 405, "Method Not Allowed", "text/plain", "only GET and HEAD\n", 0);
    return 405;
  }
  char *query = strchr(path, '?');
  if (query) *query = 0;
  if (strcmp(path, "/") == 0 || strcmp(path, "/index.html") == 0) {
    respond(fd, 200, "OK", "text/html; charset=utf-8", PAGE, head);
    return 200;
  }
  if (strcmp(path, "/healthz") == 0) {
    respond(fd, 200, "OK", "text/plain", "ok\n", head);
    return 200;
  }
  respond(fd, 404, "Not Found", "text/plain", "not found\n", head);
  return 404;
}

int main(int argc, char **argv) {
  const char *env = getenv("PORT");
  int port = env && *env ? parse_port(env) : 8080;
  const char *bind_addr = "0.0.0.0";
  if (port < 0) {
    fprintf(stderr, "httpd: PORT=%s is not a port number (1-65535)\n", env);
    return 2;
  }
  for (int i = 1; i < argc; i++) {
    if ((!strcmp(argv[i], "--port") || !strcmp(argv[i], "-p")) && i + 1 < argc) {
      if ((port = parse_port(argv[++i])) < 0) {
        fprintf(stderr, "httpd: --port %s is not a port number (1-65535)\n", argv[i]);
        return 2;
      }
    } else if ((!strcmp(argv[i], "--bind") || !strcmp(argv[i], "-b")) && i + 1 < argc) {
      bind_addr = argv[++i];
    } else if (!strcmp(argv[i], "--version")) {
      printf("scratchpack-httpd " VERSION " (" SCRATCHPACK_PLATFORM ")\n");
      return 0;
    } else if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
      return usage(stdout, 0);
    } else {
      fprintf(stderr, "httpd: unknown argument %s\n", argv[i]);
      return usage(stderr, 2);
    }
  }

  struct sockaddr_storage addr;
  socklen_t addr_len;
  memset(&addr, 0, sizeof addr);
  int family = strchr(bind_addr, ':') ? AF_INET6 : AF_INET;
  if (family == AF_INET6) {
    struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&addr;
    a6->sin6_family = AF_INET6;
    a6->sin6_port = htons((unsigned short)port);
    if (inet_pton(AF_INET6, bind_addr, &a6->sin6_addr) != 1) family = -1;
    addr_len = sizeof *a6;
  } else {
    struct sockaddr_in *a4 = (struct sockaddr_in *)&addr;
    a4->sin_family = AF_INET;
    a4->sin_port = htons((unsigned short)port);
    if (inet_pton(AF_INET, bind_addr, &a4->sin_addr) != 1) family = -1;
    addr_len = sizeof *a4;
  }
  if (family < 0) {
    fprintf(stderr, "httpd: --bind %s is not an IPv4 or IPv6 address\n", bind_addr);
    return 2;
  }

  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_signal; /* no SA_RESTART: accept() returns EINTR and the loop ends */
  sigaction(SIGTERM, &sa, NULL);
  sigaction(SIGINT, &sa, NULL);
  signal(SIGPIPE, SIG_IGN);

  int s = socket(family, SOCK_STREAM, 0);
  int one = 1;
  if (s < 0 || setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0 ||
      bind(s, (struct sockaddr *)&addr, addr_len) < 0 || listen(s, 64) < 0) {
    fprintf(stderr, "httpd: cannot listen on %s port %d: %s\n", bind_addr, port, strerror(errno));
    return 1;
  }
  printf("httpd: listening on %s port %d (" SCRATCHPACK_PLATFORM ")\n", bind_addr, port);
  fflush(stdout);

  while (!stopping) {
    int c = accept(s, NULL, NULL);
    if (c < 0) {
      if (errno == EINTR) continue;
      fprintf(stderr, "httpd: accept: %s\n", strerror(errno));
      continue;
    }
    struct timeval tv = {5, 0};
    setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    int status = serve(c);
    close(c);
    printf("httpd: %d\n", status);
    fflush(stdout);
  }
  close(s);
  printf("httpd: stopped\n");
  return 0;
}
