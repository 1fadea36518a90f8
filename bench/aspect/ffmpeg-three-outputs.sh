#!/usr/bin/env bash
# The aspect benchmark's edit (edit.json, described in bench/README.md) written by hand as one
# FFmpeg command, the way an FFmpeg user would write it for three shapes at once: decode each
# clip once, colour it, cross-fade once, split, then crop and scale each shape straight to
# yuv420p, lay the logo, title and captions out per shape, and encode three files. One audio
# mix is split between them.
#
# Usage: ffmpeg-three-outputs.sh FFMPEG MEDIA_DIR OUT_DIR
#   SHORT_SIDE   the shorter side of every output (default 1080: 1920x1080, 1080x1080, 1080x1920)
#   CLIP_SECONDS how long each of the three clips plays (default 10: a 28 s video)
#   FONT_FILE    the title's font (default: DejaVu Sans, as fontconfig finds it)
set -euo pipefail

ffmpeg=$1 media=$2 out=$3
H=${SHORT_SIDE:-1080}
N=${CLIP_SECONDS:-10}
FONT_FILE=${FONT_FILE:-$(fc-match -f '%{file}' 'DejaVu Sans')}

W=$((H * 16 / 9))                      # the 16:9 output's width, and the sources' size
TOTAL=$((3 * N - 2))                    # three clips, two 1 s cross-fades
STORY_CROP=$((2 * ((H * H + W) / (2 * W))))  # 9:16 out of 16:9, even: 608 for 1080p

# The title: 96 px on a 1080-high canvas, centred, fading in and out over 0.5 s for 3 s.
title() {
  local size=$(((${1} * 96 + 540) / 1080))
  echo "drawtext=fontfile=${FONT_FILE}:text=Reelforge:expansion=none:fontsize=${size}:fontcolor=white:x=(w-text_w)/2:y=(h-text_h)/2:enable='lt(t,3)':alpha='clip(min(t/0.5,(3-t)/0.5),0,1)'"
}
captions="subtitles=filename=${media}/captions.srt:force_style='Fontname=DejaVu Sans,Bold=1,Fontsize=16,PrimaryColour=&H00FFFFFF,OutlineColour=&H00000000,BorderStyle=1,Outline=1,Shadow=0,MarginV=23,MarginL=23,MarginR=23'"
# The logo's width is 400/1920 of each canvas's width, 40/1920 of the width from the right
# edge and 40/1080 of the height from the top: W/48 and H/27.
logo_at="overlay=x=W-w-W/48:y=H/27"

graph="
[0:v]eq=saturation=1.2[c1];
[1:v]eq=saturation=1.2[c2];
[2:v]eq=saturation=1.2[c3];
[c1][c2]xfade=transition=fade:duration=1:offset=$((N - 1))[x12];
[x12][c3]xfade=transition=fade:duration=1:offset=$((2 * N - 2)),split=3[w][s][v];
[w]format=yuv420p[wide];
[s]crop=${H}:${H},format=yuv420p[square];
[v]crop=${STORY_CROP}:${H},scale=${H}:${W},format=yuv420p[story];
[3:v]format=rgba,colorchannelmixer=aa=0.8,split=3[logo_w][logo_s][logo_v];
[logo_s]scale=w=iw*${H}/${W}:h=-2[logo_s2];
[logo_v]scale=w=iw*${H}/${W}:h=-2[logo_v2];
[wide][logo_w]${logo_at},$(title "$H"),${captions}[vwide];
[square][logo_s2]${logo_at},$(title "$H"),${captions}[vsquare];
[story][logo_v2]${logo_at},$(title "$W"),${captions}[vstory];
[0:a][1:a]acrossfade=d=1[a12];
[a12][2:a]acrossfade=d=1,pan=stereo|c0=c0|c1=c0[clips];
[4:a]volume=-12dB,afade=t=out:st=$((TOTAL - 2)):d=2[music];
[clips][music]amix=inputs=2:normalize=0:duration=first,asplit=3[awide][asquare][astory]
"

encode=(-c:v libx264 -preset veryfast -crf 23 -pix_fmt yuv420p -r 30
        -c:a aac -b:a 128k -movflags +faststart)

exec "$ffmpeg" -hide_banner -nostdin -y -loglevel error \
  -ss 1 -t "$N" -i "$media/clip1.mp4" \
  -t "$N" -i "$media/clip2.mp4" \
  -ss 1 -t "$N" -i "$media/clip3.mp4" \
  -i "$media/logo.png" \
  -t "$TOTAL" -i "$media/music.m4a" \
  -filter_complex "$graph" \
  -map '[vwide]' -map '[awide]' "${encode[@]}" "$out/wide-16x9.mp4" \
  -map '[vsquare]' -map '[asquare]' "${encode[@]}" "$out/square-1x1.mp4" \
  -map '[vstory]' -map '[astory]' "${encode[@]}" "$out/story-9x16.mp4"
