/* The limit: a minimal libpcap read loop that touches every packet and does nothing else. */
#include <pcap/pcap.h>
#include <stdio.h>

static void count(u_char *user, const struct pcap_pkthdr *h, const u_char *bytes) {
    unsigned long long *n = (unsigned long long *)user;
    n[0]++;
    n[1] += h->caplen + bytes[0] * 0;
}

int main(int argc, char **argv) {
    char err[PCAP_ERRBUF_SIZE];
    pcap_t *p = pcap_open_offline(argv[1], err);
    if (!p) { fprintf(stderr, "%s\n", err); return 1; }
    unsigned long long n[2] = {0, 0};
    pcap_loop(p, -1, count, (u_char *)n);
    printf("%llu %llu\n", n[0], n[1]);
    return 0;
}
