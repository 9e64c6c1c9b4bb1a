# thumbd container image: a build stage with the toolchain and -dev packages,
# and a slim runtime stage with only the shared libraries the binary loads.
#
#   docker build -t thumbd .      (or podman build; README: "Container image")
#   docker run --rm --network none --user "$(id -u):$(id -g)" \
#     -v "$PWD/photos:/in:ro" -v "$PWD/thumbs:/out" thumbd
#
# scripts/container-test.sh builds and tests this image with podman, offline.

# ---- build stage -----------------------------------------------------------
FROM debian:bookworm AS build

RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      build-essential cmake pkg-config \
      libjpeg62-turbo-dev libpng-dev zlib1g-dev libdeflate-dev liblcms2-dev libvips-dev libseccomp-dev \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /src
# The sources (.dockerignore keeps out build trees, .git, tests, bench, ...).
COPY . .

# The tests (cmocka) are not built here: scripts/test.sh runs them.
RUN cmake -S . -B /build -DCMAKE_BUILD_TYPE=Release -DTHUMBD_BUILD_TESTS=OFF \
 && cmake --build /build -j "$(nproc)" \
 && cmake --install /build --prefix /staging/usr/local --strip

# ---- runtime stage ---------------------------------------------------------
FROM debian:bookworm-slim

# Exactly the packages of the libraries `ldd thumbd` lists as its own (apart
# from libc): libjpeg.so.62, libpng16.so.16, libz.so.1 and libdeflate.so.0
# (PNG pixels; libdeflate0 also comes with libvips42's libtiff6),
# liblcms2.so.2 (the resampler is our own: libstb is only the tests'
# reference), libvips.so.42 and the GLib it is used through (libglib-2.0.so.0,
# libgobject-2.0.so.0), libseccomp.so.2 (the worker processes' sandbox,
# docs/security.md). libvips42 brings its loaders' libraries (WebP, TIFF,
# GIF, HEIF/AVIF, JPEG XL, JPEG 2000, SVG, PDF; BMP and ICO through
# ImageMagick's libmagickcore-6.q16-6): most of the image's size.
# scripts/container-test.sh checks that no library is missing and that the
# libvips path works.
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      libjpeg62-turbo libpng16-16 zlib1g libdeflate0 liblcms2-2 libvips42 libglib2.0-0 libseccomp2 \
 && rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin /var/log/apt /var/log/dpkg.log

# An unprivileged user with a fixed uid, so that hosts and Kubernetes
# (runAsUser / fsGroup) can grant it access to the mounted folders.
RUN useradd --system --uid 10001 --user-group --no-create-home \
      --home-dir /nonexistent --shell /usr/sbin/nologin thumbd \
 && mkdir /in /out \
 && chown thumbd:thumbd /out

COPY --from=build /staging/usr/local/ /usr/local/

USER 10001:10001
# The user has no home: libvips's SVG and PDF loaders render text through
# fontconfig, which wants a writable cache folder (else it prints "Fontconfig
# error: No writable cache directories" for every such file). With a read-only
# root filesystem, mount a writable /tmp (Kubernetes: an emptyDir).
ENV XDG_CACHE_HOME=/tmp/.cache

# thumbd handles SIGTERM itself: it stops the scan, reports queued images as
# cancelled, lets running tasks finish for the shutdown timeout, then cancels
# them (and abandons a worker stuck in I/O one second later) and exits 143.
# Docker's `stop` sends SIGKILL after 10 s and Kubernetes after its
# terminationGracePeriodSeconds, 30 s; thumbd's default timeout (10 s, plus up
# to 1 s to cancel) would overrun Docker's, and a SIGKILL loses the records of
# the running tasks and leaves their temporary files to the next run. 8 s ends
# within both. It is an environment variable rather than an ENTRYPOINT option
# so that `-e THUMBD_SHUTDOWN_TIMEOUT=N` changes it (raise it only together with
# the grace period: docker run --stop-timeout, Kubernetes
# terminationGracePeriodSeconds) and arguments given to `docker run IMAGE ...`,
# which replace CMD, keep it; a --shutdown-timeout flag still wins over it.
ENV THUMBD_SHUTDOWN_TIMEOUT=8
STOPSIGNAL SIGTERM
ENTRYPOINT ["thumbd"]
CMD ["/in", "/out"]
