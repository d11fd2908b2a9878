/** A dist mirror as recorded in a lock (`dist.mirrors[]`, `ArrayDumper::dump`). */
export interface DistMirror {
  readonly url: string;
  readonly preferred: boolean;
}

/**
 * `dist` of a locked package, normalised: an empty or missing shasum is `undefined`; a missing or
 * null reference is `undefined`, any other is a string as `ArrayLoader` casts it (`""` and `"0"` included).
 */
export interface LockedDist {
  /** As written in the lock; the cache file extension uses it verbatim (`FileDownloader::download`). */
  readonly type: string;
  readonly url: string;
  readonly reference: string | undefined;
  readonly shasum: string | undefined;
  readonly mirrors: readonly DistMirror[];
}

/** A source mirror as recorded in a lock (`source.mirrors[]`, `ArrayDumper::dump`). */
export interface SourceMirror {
  readonly url: string;
  readonly preferred: boolean;
}

/** `source` of a locked package, as written: Composer clones it when it installs from source. */
export interface LockedSource {
  /** `git`, `hg`, `svn`, … (`DownloadManager::getDownloader` lowercases it). */
  readonly type: string;
  readonly url: string;
  /** The commit (git), changeset (hg) or revision (svn); empty when the lock has none. */
  readonly reference: string;
  readonly mirrors: readonly SourceMirror[];
}

/** One package of a composer.lock, installed.json or resolved set, normalised. */
export interface LockedPackage {
  /** The name as written (pretty case); Composer lowercases it (`BasePackage::__construct`). */
  readonly name: string;
  /** Pretty version, e.g. `v6.4.1`. */
  readonly version: string;
  /** Only installed.json carries it; for locks Composer recomputes it (`VersionParser::normalize`). */
  readonly versionNormalized: string | undefined;
  /** Composer package type (`library`, `metapackage`, …). */
  readonly type: string;
  readonly dist: LockedDist | undefined;
  readonly hasSource: boolean;
  /** The `source` entry when it has a type and a URL (`Package::getSourceUrls` needs both). */
  readonly source?: LockedSource | undefined;
  /** Came from `packages-dev` (lock) or `dev-package-names` (installed.json v2). */
  readonly dev: boolean;
  /** Which input file this entry came from (for messages and de-duplication reports). */
  readonly origin: string;
  /** `extra.plugin-modifies-downloads`: such a plugin may rewrite URLs or cache keys. */
  readonly modifiesDownloads: boolean;
  /** `notification-url`: packagist.org's marks a public package (decides `--mirror` eligibility). */
  readonly notificationUrl?: string | undefined;
  /**
   * `transport-options.http.header`: raw `Name: value` lines the package's repository asks for
   * (`ComposerRepository::configurePackageTransportOptions`); Composer sends them with its dist
   * download (`addCopy(…, $package->getTransportOptions())`). They may carry a token.
   */
  readonly transportHeaders?: readonly string[] | undefined;
}

export type InputKind = 'composer.lock' | 'installed.json (v1)' | 'installed.json (v2)' | 'resolved set';

/** A package entry that could not be used; the others still download. */
export interface PackageProblem {
  readonly origin: string;
  /** Index in its list, for entries without a usable name. */
  readonly index: number;
  readonly packageName: string | undefined;
  readonly message: string;
}

export interface ParsedInput {
  readonly origin: string;
  readonly kind: InputKind;
  readonly packages: readonly LockedPackage[];
  readonly problems: readonly PackageProblem[];
}
