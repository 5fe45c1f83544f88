package dev.erofspipeline.ingest;

import dev.erofspipeline.ingest.Resolution.ImageFailure;
import dev.erofspipeline.ingest.Resolution.Layer;
import dev.erofspipeline.ingest.Resolution.ResolvedImage;
import dev.erofspipeline.schemas.ConversionProfile;
import dev.erofspipeline.schemas.DeadLetter;
import dev.erofspipeline.schemas.ImageRecord;
import dev.erofspipeline.schemas.ImageRequest;
import dev.erofspipeline.schemas.ImageStatus;
import dev.erofspipeline.schemas.LayerJob;

import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * Decides, for a resolved request, which layers need a job (dedup) and builds the records.
 *
 * <p>Per distinct layer of the request (a layer shared by several platform manifests gets one job listing every
 * subject): if its {@code result.json} exists under the profile it is not queued again unless the request has
 * {@code force}; if this process queued it already and its result is not there yet ({@link InFlightLayers}) it is not
 * queued again either (also with {@code force}: the queued job will convert it; forced claims are only freed by
 * their time-to-live, since the result they redo existed before them). Every selected image gets an image
 * record and a {@code queued} status listing each layer as converted or queued; an image whose layers are all converted
 * therefore goes to the publisher with no job. A platform manifest that failed gets a dead letter and a {@code failed}
 * status instead. With the native profile on, every layer also needs a result under it (a job each where
 * missing, and a layer counts as converted only with both), and every image record carries the native part
 * listing the request's image manifests, from which the publisher assembles the EROFS image index.
 */
public final class IngestPlanner {
    private static final Pattern URL = Pattern.compile("https?://[^\\x00-\\x20]+");
    private static final int MAX_URLS = 16;
    private static final int MAX_MESSAGES = 32;

    private final ConversionProfile profile;
    private final ConversionProfile nativeProfile;
    private final ConvertedLayers converted;
    private final InFlightLayers inFlight;

    public IngestPlanner(ConversionProfile profile, ConvertedLayers converted, InFlightLayers inFlight) {
        this(profile, null, converted, inFlight);
    }

    /** @param nativeProfile the native profile, or null when it is off */
    public IngestPlanner(ConversionProfile profile, ConversionProfile nativeProfile, ConvertedLayers converted,
                         InFlightLayers inFlight) {
        this.profile = profile;
        this.nativeProfile = nativeProfile;
        this.converted = converted;
        this.inFlight = inFlight;
    }

    public ConversionProfile profile() {
        return profile;
    }

    public IngestPlan plan(ImageRequest request, Resolution res, DeadLetter.Input input) {
        Instant now = Instant.now();
        // distinct layers of the request, in first-seen order, with the images that contain them
        Map<String, Layer> layers = new LinkedHashMap<>();
        Map<String, List<LayerJob.Subject>> subjects = new LinkedHashMap<>();
        for (ResolvedImage img : res.images()) {
            for (Layer l : img.layers()) {
                layers.putIfAbsent(l.digest(), l);
                List<LayerJob.Subject> s = subjects.computeIfAbsent(l.digest(), d -> new ArrayList<>());
                if (s.stream().noneMatch(x -> x.digest().equals(img.digest()))) {
                    s.add(new LayerJob.Subject(res.repository(), img.digest(), img.platform()));
                }
            }
        }
        Map<String, ImageStatus.LayerState> states = new LinkedHashMap<>();
        List<LayerJob> jobs = new ArrayList<>();
        List<String> claims = new ArrayList<>();
        List<ConversionProfile> profiles = nativeProfile == null ? List.of(profile) : List.of(profile, nativeProfile);
        try {
            for (Layer l : layers.values()) {
                boolean allDone = true;
                for (ConversionProfile p : profiles) {
                    String key = InFlightLayers.key(l.digest(), p.fingerprint());
                    long checkStart = inFlight.now();
                    boolean done = converted.isConverted(l.digest(), p);
                    if (done) {
                        inFlight.releaseIfClaimedBefore(key, checkStart);
                        if (!request.force()) {
                            continue;
                        }
                    }
                    allDone = false;
                    if (inFlight.tryClaim(key, request.force())) {
                        claims.add(key);
                        jobs.add(new LayerJob(res.registry(), res.repository(), descriptor(l), l.diffId(), p,
                                subjects.get(l.digest()), request.priority(), request.force(), request.correlationId()));
                    }
                }
                states.put(l.digest(), allDone ? ImageStatus.LayerState.CONVERTED : ImageStatus.LayerState.QUEUED);
            }
        } catch (RuntimeException e) {
            inFlight.release(claims);
            throw e;
        }

        List<ImageRecord> images = new ArrayList<>();
        List<ImageStatus> statuses = new ArrayList<>();
        ImageRecord.NativeImage nativeImage = nativeProfile == null ? null
                : new ImageRecord.NativeImage(nativeProfile, res.images().stream().map(ResolvedImage::digest).toList());
        for (ResolvedImage img : res.images()) {
            List<ImageRecord.Layer> recLayers = new ArrayList<>();
            List<ImageStatus.Layer> statusLayers = new ArrayList<>();
            int done = 0;
            for (Layer l : img.layers()) {
                recLayers.add(new ImageRecord.Layer(l.digest(), l.size(), l.mediaType(), l.diffId()));
                ImageStatus.LayerState st = states.get(l.digest());
                statusLayers.add(new ImageStatus.Layer(l.digest(), l.size(), st, null));
                if (st == ImageStatus.LayerState.CONVERTED) {
                    done++;
                }
            }
            images.add(new ImageRecord(res.registry(), res.repository(),
                    new ImageRecord.Subject(img.digest(), img.mediaType(), img.size()), img.platform(),
                    img.indexDigest(), res.reference(), recLayers, profile, request.correlationId(), nativeImage));
            statuses.add(new ImageStatus(img.digest(), res.registry(), res.repository(), res.reference(),
                    img.platform(), ImageStatus.State.QUEUED, img.layers().size(), done, null, null, statusLayers,
                    messages(img.notes()), profile, request.correlationId(), now));
        }

        List<DeadLetter> deadLetters = new ArrayList<>();
        for (ImageFailure f : res.failures()) {
            String message = DeadLetter.truncate(f.message(), DeadLetter.MAX_MESSAGE_CHARS);
            deadLetters.add(new DeadLetter(DeadLetter.Stage.INGEST, input, IngestException.class.getName(),
                    f.reasonCode(), message, now, 1, null, f.digest(), request.correlationId()));
            statuses.add(new ImageStatus(f.digest(), res.registry(), res.repository(), res.reference(), f.platform(),
                    ImageStatus.State.FAILED, 0, 0, message, f.reasonCode(), List.of(), List.of(), profile,
                    request.correlationId(), now));
        }
        return new IngestPlan(jobs, images, statuses, deadLetters, claims);
    }

    private static LayerJob.Descriptor descriptor(Layer l) {
        List<String> urls = l.urls().stream().filter(u -> u.length() <= 2048 && URL.matcher(u).matches())
                .limit(MAX_URLS).toList();
        return new LayerJob.Descriptor(l.digest(), l.size(), l.mediaType(), urls);
    }

    private static List<String> messages(List<String> notes) {
        return notes.stream().limit(MAX_MESSAGES).map(n -> DeadLetter.truncate(n, 1024)).toList();
    }
}
