package dev.erofspipeline.ingest;

import dev.erofspipeline.registry.RegistryOptions;
import dev.erofspipeline.schemas.ConversionProfile;
import dev.erofspipeline.schemas.Topics;

import java.time.Duration;
import java.util.Objects;

/**
 * Settings of the ingest stage.
 *
 * @param bootstrapServers Kafka {@code bootstrap.servers}
 * @param topics           topic names (with the installation's prefix)
 * @param groupId          consumer group of the image-requests route
 * @param profile          conversion profile whose results count for dedup and that jobs carry
 * @param bucket           S3 bucket of the staging area (null: no S3 check, every layer is queued)
 * @param s3Prefix         key prefix inside the bucket ({@code StagingLayout})
 * @param inFlightTtl      how long a queued layer is not queued again by this process without a result
 * @param registryOptions  registry client settings (credentials, insecure hosts, retries)
 * @param maxPollRecords   requests fetched per poll (each is handled and committed one by one)
 * @param registryRatePerSecond requests a second to each registry host while resolving (0: unlimited); 429 answers
 *                         and their {@code Retry-After} are handled by the registry client
 * @param nativeProfile    the native profile when it is on (every layer also converted under it, every image also
 *                         published as an EROFS image), else null
 */
public record IngestConfig(String bootstrapServers, Topics topics, String groupId, ConversionProfile profile,
                           String bucket, String s3Prefix, Duration inFlightTtl, RegistryOptions registryOptions,
                           int maxPollRecords, double registryRatePerSecond, ConversionProfile nativeProfile) {
    public static final String DEFAULT_GROUP = "erofs-ingest";
    public static final Duration DEFAULT_IN_FLIGHT_TTL = Duration.ofMinutes(30);

    public IngestConfig {
        Objects.requireNonNull(bootstrapServers, "bootstrapServers");
        topics = topics == null ? Topics.defaults() : topics;
        groupId = groupId == null ? DEFAULT_GROUP : groupId;
        Objects.requireNonNull(profile, "profile");
        s3Prefix = s3Prefix == null ? "" : s3Prefix;
        inFlightTtl = inFlightTtl == null ? DEFAULT_IN_FLIGHT_TTL : inFlightTtl;
        registryOptions = registryOptions == null ? RegistryOptions.defaults() : registryOptions;
        maxPollRecords = maxPollRecords <= 0 ? 20 : maxPollRecords;
    }

    /** Defaults for everything but the broker, the profile and the bucket. */
    public static IngestConfig of(String bootstrapServers, ConversionProfile profile, String bucket) {
        return new IngestConfig(bootstrapServers, null, null, profile, bucket, null, null, null, 0, 0, null);
    }

    public IngestConfig withTopics(Topics t) {
        return new IngestConfig(bootstrapServers, t, groupId, profile, bucket, s3Prefix, inFlightTtl, registryOptions,
                maxPollRecords, registryRatePerSecond, nativeProfile);
    }

    public IngestConfig withGroupId(String g) {
        return new IngestConfig(bootstrapServers, topics, g, profile, bucket, s3Prefix, inFlightTtl, registryOptions,
                maxPollRecords, registryRatePerSecond, nativeProfile);
    }

    public IngestConfig withS3Prefix(String p) {
        return new IngestConfig(bootstrapServers, topics, groupId, profile, bucket, p, inFlightTtl, registryOptions,
                maxPollRecords, registryRatePerSecond, nativeProfile);
    }

    public IngestConfig withRegistryOptions(RegistryOptions o) {
        return new IngestConfig(bootstrapServers, topics, groupId, profile, bucket, s3Prefix, inFlightTtl, o,
                maxPollRecords, registryRatePerSecond, nativeProfile);
    }

    public IngestConfig withRegistryRate(double perSecond) {
        return new IngestConfig(bootstrapServers, topics, groupId, profile, bucket, s3Prefix, inFlightTtl, registryOptions,
                maxPollRecords, perSecond, nativeProfile);
    }

    /** With the native profile on ({@code profile}) or off (null). */
    public IngestConfig withNativeProfile(ConversionProfile profile) {
        return new IngestConfig(bootstrapServers, topics, groupId, this.profile, bucket, s3Prefix, inFlightTtl,
                registryOptions, maxPollRecords, registryRatePerSecond, profile);
    }

    public IngestConfig withInFlightTtl(Duration ttl) {
        return new IngestConfig(bootstrapServers, topics, groupId, profile, bucket, s3Prefix, ttl, registryOptions,
                maxPollRecords, registryRatePerSecond, nativeProfile);
    }
}
