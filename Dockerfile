# dumpguard for isolated networks: a multi-stage build whose final image holds only the
# statically linked binary, the rule packs and default policy (as editable copies: the same
# files are compiled in), a writable /tmp for `scan -`, and the licences. No shell, no libc.
#
#   docker build -t dumpguard:0.1.0 .
#   docker save dumpguard:0.1.0 | gzip > dumpguard-0.1.0.tar.gz   # carry this file across
#   docker load < dumpguard-0.1.0.tar.gz                          # inside the isolated network
#   docker run --rm -v /dumps:/dumps:ro dumpguard:0.1.0 scan /dumps
#
# The builder image's Rust must be at least the crate's rust-version (Cargo.toml).
ARG RUST_IMAGE=rust:1-bookworm

FROM ${RUST_IMAGE} AS build
WORKDIR /src
COPY . .
# Builds with the same script the README gives, then proves the binary runs in an empty
# chroot before anything is copied out of this stage.
RUN cp "$(scripts/build-static.sh)" /dumpguard \
 && scripts/check-static.sh /dumpguard \
 && mkdir -m 1777 /rootfs-tmp

FROM scratch
COPY --from=build /dumpguard /usr/local/bin/dumpguard
COPY --from=build /rootfs-tmp /tmp
COPY rules/ /usr/share/dumpguard/rules/
COPY LICENSE-MIT LICENSE-APACHE /usr/share/doc/dumpguard/
ENV TMPDIR=/tmp
# Reports and audit logs go wherever a volume is mounted; nobody needs root to scan.
USER 65534:65534
ENTRYPOINT ["/usr/local/bin/dumpguard"]
CMD ["--help"]
