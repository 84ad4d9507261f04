"""Which videos a command line names: video files, folders of them, list files."""

import pathlib

VIDEO_SUFFIXES = ('.mp4', '.avi', '.mkv', '.webm', '.mov', '.m4v', '.flv',
                  '.mpg', '.mpeg', '.3gp', '.ogv', '.wmv')
LIST_SUFFIXES = ('.txt', '.lst', '.list')


def list_videos(inputs) -> list[tuple[pathlib.Path, pathlib.PurePath]]:
  """(video path, output key) for each input: video, folder or list file.

  A folder gives every video below it, keyed by its path relative to the
  folder; a list file (.txt/.lst/.list) one path per line (blank lines and
  '#' comments skipped; relative paths are relative to the list's folder and
  keep their relative path as key); anything else is taken as one video.

  Raises:
    FileNotFoundError: an input that does not exist.
    ValueError: two videos that would write the same output.
  """
  pairs = []
  for item in map(pathlib.Path, inputs):
    if item.is_dir():
      for path in sorted(item.rglob('*')):
        if path.suffix.lower() in VIDEO_SUFFIXES and path.is_file():
          pairs.append((path, path.relative_to(item).with_suffix('')))
    elif not item.exists():
      raise FileNotFoundError(f'flow input {item} does not exist.')
    elif item.suffix.lower() in LIST_SUFFIXES:
      for line in item.read_text().splitlines():
        line = line.strip()
        if line and not line.startswith('#'):
          entry = pathlib.Path(line)
          key = pathlib.PurePath(entry.name if entry.is_absolute() else entry)
          pairs.append((item.parent / entry, key.with_suffix('')))
    else:
      pairs.append((item, pathlib.PurePath(item.stem)))
  seen = {}
  for path, key in pairs:
    if key in seen:
      raise ValueError(f'{seen[key]} and {path} would both write flow "{key}";'
                       ' rename one or extract them into different --out_dir.')
    seen[key] = path
  return pairs
