# tidal's container image: a static binary on distroless, running as a non-root user.
#
#   make image                      # VERSION and COMMIT from git, IMAGE=ghcr.io/tidal-planner/tidal:$VERSION
#   docker build --build-arg VERSION=v0.1.0 --build-arg COMMIT=$(git rev-parse HEAD) -t tidal .
#
# The build stage runs .ci/build-binary, the same script cmd/tidal's TestBuildStage runs, so the
# binary the image ships is tested even where no container runtime exists. The image needs no
# writable path: run it with readOnlyRootFilesystem (the Helm chart and deploy/tidal do).

ARG GO_VERSION=1.26

FROM golang:${GO_VERSION} AS build
WORKDIR /src
# Modules first, so a source change does not download them again.
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
ARG COMMIT=unknown
RUN OUT=/out/tidal VERSION=${VERSION} COMMIT=${COMMIT} sh .ci/build-binary

# distroless/static: CA certificates, tzdata and /etc/passwd with the nonroot user (65532), no
# shell, no libc. The :nonroot tag already sets USER; it is repeated numerically so that
# Kubernetes' runAsNonRoot can verify it without resolving a name.
FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/tidal /usr/local/bin/tidal
USER 65532:65532
EXPOSE 8080 9443
ENTRYPOINT ["/usr/local/bin/tidal"]
CMD ["run", "--policies=/etc/tidal/policies"]
