# One image for every role: `docker run IMAGE run --role worker`, `... convert REF`, etc.
# Cannot be built on the project's development machines (no Docker engine there).
FROM maven:3.9-eclipse-temurin-17 AS build
WORKDIR /src
COPY . .
RUN mvn -B -q -DskipTests package -pl launcher -am

FROM eclipse-temurin:17-jre
# No system packages: conversion, hashing, signing and verify are all done by the JVM.
COPY --from=build /src/launcher/target/erofs-pipeline.jar /opt/erofs-pipeline/erofs-pipeline.jar
USER 65532:65532
ENTRYPOINT ["java", "-XX:MaxRAMPercentage=75", "-jar", "/opt/erofs-pipeline/erofs-pipeline.jar"]
CMD ["--help"]
