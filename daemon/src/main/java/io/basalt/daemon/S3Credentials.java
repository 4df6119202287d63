package io.basalt.daemon;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.SecureRandom;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The S3 endpoint's one access key: DATA_DIR/s3-credentials, made at the first start (SecureRandom, mode 0600) and
 * read back at every start after it. The file is in the AWS CLI's shared-credentials form, so it also works as
 * AWS_SHARED_CREDENTIALS_FILE. The secret never leaves the file through RPC; the banner prints it on purpose (the
 * data dir is the owner's, 0700).
 */
record S3Credentials(String accessKeyId, String secretKey) {
    static final String FILE_NAME = "s3-credentials";
    static final String KEY_ID_PREFIX = "BASALT";
    static final int KEY_ID_CHARS = 20;
    static final int SECRET_CHARS = 40;
    private static final String KEY_ID_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    /** The secret's characters: letters, digits and the two AWS secrets use, none a shell would read. */
    private static final String SECRET_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    private static final int FILE_BYTES_MAX = 4096;
    private static final Pattern KEY_ID_LINE = Pattern.compile("(?m)^aws_access_key_id\\s*=\\s*(" + KEY_ID_PREFIX + "[A-Z0-9]{14})\\s*$");
    private static final Pattern SECRET_LINE = Pattern.compile("(?m)^aws_secret_access_key\\s*=\\s*([A-Za-z0-9+/]{" + SECRET_CHARS + "})\\s*$");
    private static final Set<PosixFilePermission> OWNER_READ_WRITE = PosixFilePermissions.fromString("rw-------");

    /** Reads DATA_DIR/s3-credentials, making it first when there is none. */
    static S3Credentials loadOrCreate(Path dataDir) throws IOException {
        Path file = dataDir.resolve(FILE_NAME);
        if (!Files.exists(file, LinkOption.NOFOLLOW_LINKS)) {
            S3Credentials made = generate(new SecureRandom());
            try {
                // created 0600 in one step: the secret is never readable by anyone else, not even for a moment
                Files.write(Files.createFile(file, PosixFilePermissions.asFileAttribute(OWNER_READ_WRITE)),
                        made.fileText().getBytes(StandardCharsets.US_ASCII), StandardOpenOption.TRUNCATE_EXISTING);
                return made;
            } catch (FileAlreadyExistsException e) {
                // another start made it meanwhile: read theirs
            }
        }
        return read(file);
    }

    static S3Credentials read(Path file) throws IOException {
        if (Files.size(file) > FILE_BYTES_MAX) throw new IOException(file + " is over " + FILE_BYTES_MAX + " bytes: not a credentials file");
        String text = Files.readString(file, StandardCharsets.US_ASCII);
        Matcher id = KEY_ID_LINE.matcher(text);
        Matcher secret = SECRET_LINE.matcher(text);
        if (!id.find() || !secret.find()) {
            throw new IOException(file + " must hold aws_access_key_id = " + KEY_ID_PREFIX + " and 14 more of A-Z0-9, and aws_secret_access_key = "
                    + SECRET_CHARS + " of A-Za-z0-9+/ (delete it to have a new key made at the next start)");
        }
        return new S3Credentials(id.group(1), secret.group(1));
    }

    static S3Credentials generate(SecureRandom random) {
        return new S3Credentials(KEY_ID_PREFIX + randomText(random, KEY_ID_ALPHABET, KEY_ID_CHARS - KEY_ID_PREFIX.length()),
                randomText(random, SECRET_ALPHABET, SECRET_CHARS));
    }

    private static String randomText(SecureRandom random, String alphabet, int length) {
        StringBuilder sb = new StringBuilder(length);
        for (int i = 0; i < length; i++) sb.append(alphabet.charAt(random.nextInt(alphabet.length())));
        return sb.toString();
    }

    String fileText() {
        return "# basalt's S3 endpoint (s3_start): the access key its requests are signed with\n[default]\naws_access_key_id = "
                + accessKeyId + "\naws_secret_access_key = " + secretKey + "\n";
    }

    @Override
    public String toString() {
        return "S3Credentials[" + accessKeyId + "]"; // never the secret
    }
}
