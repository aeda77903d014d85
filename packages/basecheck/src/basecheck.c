/*
 * basecheck — a static program that needs what `scratchpack base static` provides, and says what it found:
 * a user from /etc/passwd, a time zone from /usr/share/zoneinfo, the CA bundle from SSL_CERT_FILE,
 * a world-writable sticky /tmp, and a service from /etc/services. Exits 1 when any of them is missing,
 * so it fails FROM scratch and passes on the base.
 */
#include <netdb.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

static int failures = 0;

static void fail(const char *what) {
  printf("MISSING %s\n", what);
  failures++;
}

static void user(void) {
  struct passwd *pw = getpwnam("nonroot");
  if (!pw) return fail("nonroot in /etc/passwd");
  printf("nonroot uid=%u gid=%u home=%s\n", (unsigned)pw->pw_uid, (unsigned)pw->pw_gid, pw->pw_dir);
}

static void zone(void) {
  setenv("TZ", "Europe/Paris", 1);
  tzset();
  time_t t = 1700000000;
  struct tm tm;
  char buf[64];
  if (!localtime_r(&t, &tm) || !strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S %Z", &tm))
    return fail("Europe/Paris");
  printf("Europe/Paris 1700000000 = %s\n", buf);
}

static void certificates(void) {
  const char *file = getenv("SSL_CERT_FILE");
  FILE *f = fopen(file ? file : "/etc/ssl/certs/ca-certificates.crt", "r");
  if (!f) return fail("CA bundle");
  char line[512];
  int n = 0;
  while (fgets(line, sizeof line, f))
    if (strncmp(line, "-----BEGIN CERTIFICATE-----", 27) == 0) n++;
  fclose(f);
  if (n <= 100) return fail("CA bundle with more than 100 certificates");
  printf("certificates: more than 100 (%s)\n", file ? file : "default path");
}

static void tmp(void) {
  struct stat st;
  if (stat("/tmp", &st) != 0) return fail("/tmp");
  printf("/tmp mode %o\n", (unsigned)(st.st_mode & 07777));
}

static void service(void) {
  struct servent *s = getservbyname("https", "tcp");
  if (!s) return fail("https in /etc/services");
  printf("https/tcp port %d\n", ntohs((unsigned short)s->s_port));
}

int main(void) {
  user();
  zone();
  certificates();
  tmp();
  service();
  return failures ? 1 : 0;
}
