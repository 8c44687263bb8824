/* In-process timing of OpenSSL 1.1.1d's SSL_CTX_set_cipher_list, for the ratio printed by
 * `openssl-oracle bench`. Usage: set_cipher_list_bench ITERATIONS STRING...
 * Prints one line per string: the mean nanoseconds per call, best of 5 rounds. */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <openssl/ssl.h>

static double now_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e9 + (double)t.tv_nsec;
}

int main(int argc, char **argv)
{
    long iterations, i;
    int s, round;
    SSL_CTX *ctx;

    if (argc < 3)
        return 2;
    iterations = atol(argv[1]);
    ctx = SSL_CTX_new(TLS_server_method());
    if (ctx == NULL || iterations <= 0)
        return 1;
    for (s = 2; s < argc; s++) {
        double best = 0;
        for (round = 0; round < 5; round++) {
            double start = now_ns(), per_call;
            for (i = 0; i < iterations; i++)
                if (!SSL_CTX_set_cipher_list(ctx, argv[s]))
                    return 1;
            per_call = (now_ns() - start) / (double)iterations;
            if (round == 0 || per_call < best)
                best = per_call;
        }
        printf("%.0f\n", best);
    }
    SSL_CTX_free(ctx);
    return 0;
}
