<?php
/*
 * Golden oracle for composer-prefetch's cache keys: computes them with Composer's OWN classes
 * (the Debian composer package, /usr/share/php/Composer), the way FileDownloader::download does:
 * ArrayLoader -> Package::getDistUrls() -> FileDownloader::processUrl (Url::updateDistReference,
 * with a Config carrying github-domains / gitlab-domains) -> sha1 -> Cache's sanitising
 * (checked by really writing through a Composer\Cache into a temp dir).
 *
 * Usage: php composer-cache-keys.php REQUEST.json  (prints a JSON response on stdout)
 * REQUEST: {"autoload": path, "githubDomains": [...], "gitlabDomains": [...], "files": [...], "versions": [...]}
 */

$request = json_decode(file_get_contents($argv[1]), true, 512, JSON_THROW_ON_ERROR);
require $request['autoload'];

use Composer\Cache;
use Composer\Config;
use Composer\Downloader\FileDownloader;
use Composer\IO\NullIO;
use Composer\Package\Loader\ArrayLoader;
use Composer\Semver\VersionParser;
use Composer\Util\HttpDownloader;

$io = new NullIO();
$config = new Config(false);
$config->merge(['config' => [
    'github-domains' => $request['githubDomains'],
    'gitlab-domains' => $request['gitlabDomains'],
]]);

$downloader = new FileDownloader($io, $config, new HttpDownloader($io, $config));
$processUrl = new ReflectionMethod(FileDownloader::class, 'processUrl');
$processUrl->setAccessible(true);

$cacheRoot = sys_get_temp_dir() . '/composer-prefetch-golden-' . bin2hex(random_bytes(6));
// Same allowlist as Factory::createDownloadManager
$cache = new Cache($io, $cacheRoot, 'a-z0-9_./');

$sourceFile = $cacheRoot . '.src';
file_put_contents($sourceFile, 'x');

$loader = new ArrayLoader(null, true);
$out = ['packages' => [], 'versions' => []];

foreach ($request['files'] as $file) {
    $data = json_decode(file_get_contents($file), true, 512, JSON_THROW_ON_ERROR);
    if (array_is_list($data)) {
        $entries = $data; // installed.json v1
    } else {
        $entries = array_merge($data['packages'] ?? [], $data['packages-dev'] ?? []);
    }
    foreach ($entries as $index => $entry) {
        $row = ['file' => basename($file), 'index' => $index, 'name' => $entry['name'] ?? null];
        try {
            $package = $loader->load($entry);
            // a branch-alias makes ArrayLoader return an AliasPackage; downloads use the aliased
            // package (Locker::getLockedRepository adds getAliasOf(); alias operations download nothing)
            if ($package instanceof \Composer\Package\AliasPackage) {
                $package = $package->getAliasOf();
            }
            $row['versionNormalized'] = $package->getVersion();
            $urls = $package->getDistUrls();
            $row['urls'] = $urls;
            if ($urls !== []) {
                // FileDownloader::download: $cacheKeyGenerator($package, $processedUrl)
                $processed = $processUrl->invoke($downloader, $package, $urls[0]);
                $row['processed'] = $processed;
                $rawKey = $package->getName() . '/' . sha1($processed) . '.' . $package->getDistType();
                // Cache::copyFrom sanitises the key and creates the directories, as a download does
                $cache->copyFrom($rawKey, $sourceFile);
                $row['key'] = preg_replace('{[^a-z0-9_./]}i', '-', $rawKey);
                $row['keyWritten'] = file_exists(rtrim($cacheRoot, '/') . '/' . $row['key']);
            }
        } catch (\Throwable $e) {
            $row['error'] = get_class($e) . ': ' . $e->getMessage();
        }
        $out['packages'][] = $row;
    }
}

$parser = new VersionParser();
foreach ($request['versions'] as $version) {
    try {
        $out['versions'][] = ['input' => $version, 'normalized' => $parser->normalize($version)];
    } catch (\UnexpectedValueException $e) {
        $out['versions'][] = ['input' => $version, 'normalized' => null];
    }
}

// remove the temp cache tree
if (is_dir($cacheRoot)) {
    $it = new RecursiveIteratorIterator(new RecursiveDirectoryIterator($cacheRoot, FilesystemIterator::SKIP_DOTS), RecursiveIteratorIterator::CHILD_FIRST);
    foreach ($it as $f) {
        $f->isDir() ? rmdir($f->getPathname()) : unlink($f->getPathname());
    }
    rmdir($cacheRoot);
}
unlink($sourceFile);

echo json_encode($out, JSON_UNESCAPED_SLASHES | JSON_UNESCAPED_UNICODE | JSON_THROW_ON_ERROR), "\n";
